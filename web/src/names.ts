// Names for the rows on screen: the registry names children and pairing names caregivers, in
// batches (each read is audited as work, so only the ids shown are asked for). Remembered for
// the page's life so paging back does not ask again.
import { reactive } from 'vue'
import { pairing, registry } from './api/http'

const BATCH = 500
export const names = reactive<{ children: Record<string, string>; caregivers: Record<string, string> }>({ children: {}, caregivers: {} })

async function inBatches(ids: string[], known: Record<string, string>,
  ask: (batch: string[]) => Promise<Record<string, string> | undefined>): Promise<void> {
  const missing = [...new Set(ids)].filter((id) => !(id in known))
  for (let i = 0; i < missing.length; i += BATCH) {
    const batch = missing.slice(i, i + BATCH)
    const found = await ask(batch)
    for (const id of batch) known[id] = found?.[id] ?? '—'
  }
}

export function nameChildren(ids: string[]): Promise<void> {
  return inBatches(ids, names.children, async (batch) =>
    (await registry.POST('/v1/children/names', { body: { ids: batch } })).data?.names)
}

export function nameCaregivers(ids: string[]): Promise<void> {
  return inBatches(ids, names.caregivers, async (batch) =>
    (await pairing.POST('/v1/caregivers/names', { body: { ids: batch } })).data?.names as Record<string, string> | undefined)
}
