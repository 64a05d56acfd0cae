// The outbox: every record is first saved on the phone with its own id, then sent. Sending
// goes in the order the records were made, one at a time, and a record leaves the outbox only
// when the server has it (201, or 200 for an id it already had: a resend after a lost answer
// changes nothing). A refusal (4xx other than 401) keeps the record, with the server's reason,
// so it can be corrected; a network failure or a busy server stops the round until the next
// one (back online, app opened, every 30 s while something waits).
import { reactive } from 'vue'
import { db, type OutboxRecord } from './db'
import { gatewayFetch, problemOf } from './api'
import { problemFields } from '../api/gateway'
import { session } from '../session'

export const outbox = reactive({ waiting: [] as OutboxRecord[], refused: [] as OutboxRecord[], sending: false })

let seqCounter = 0

export async function refresh(): Promise<void> {
  const all = await (await db()).getAllFromIndex('outbox', 'by_seq')
  outbox.waiting = all.filter((r) => r.state === 'waiting')
  outbox.refused = all.filter((r) => r.state === 'refused')
}

export async function enqueue(record: Omit<OutboxRecord, 'seq' | 'state' | 'photos_sent' | 'created_at'>): Promise<void> {
  // Date.now() keeps the order across reloads; the counter separates records made in one millisecond.
  const seq = Date.now() * 1000 + (seqCounter++ % 1000)
  await (await db()).put('outbox', { ...record, seq, state: 'waiting', photos_sent: 0, created_at: new Date().toISOString() })
  await refresh()
  void sync()
}

export async function discard(id: string): Promise<void> {
  await (await db()).delete('outbox', id)
  await refresh()
}

/** Put a refused record back in the queue after it was corrected. */
export async function retry(record: OutboxRecord, body: Record<string, unknown>): Promise<void> {
  await (await db()).put('outbox', { ...JSON.parse(JSON.stringify(record)), photos: record.photos, body, state: 'waiting', reason: undefined })
  await refresh()
  void sync()
}

type Outcome = 'sent' | 'refused' | 'stop'

async function send(record: OutboxRecord): Promise<Outcome> {
  let response: Response
  const database = await db()
  try {
    if (record.photos_sent === 0) {
      response = await gatewayFetch(new Request('/visits/v1/contacts', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(record.body),
      }))
      if (!response.ok) return await refusedOrStop(record, response)
    }
    for (let slot = record.photos_sent + 1; slot <= record.photos.length; slot++) {
      const photo = record.photos[slot - 1]
      response = await gatewayFetch(new Request(`/visits/v1/contacts/${record.id}/photos/${slot}`, {
        method: 'PUT', headers: { 'Content-Type': photo.blob.type || 'image/jpeg' }, body: photo.blob,
      }))
      if (!response.ok) return await refusedOrStop(record, response)
      record.photos_sent = slot
      await database.put('outbox', record)
    }
  } catch {
    return 'stop'  // no network
  }
  await database.delete('outbox', record.id)
  return 'sent'
}

async function refusedOrStop(record: OutboxRecord, response: Response): Promise<Outcome> {
  if (response.status === 401 || response.status === 408 || response.status === 429 || response.status >= 500) return 'stop'
  const problem = await response.json().catch(() => undefined)
  await (await db()).put('outbox', { ...record, state: 'refused', reason: refusalOf(problem, response.status) })
  return 'refused'
}

let running: Promise<void> | null = null
let again = false

/** One round through the waiting records. A call while a round runs is joined and asks for
 * one more round after it: the signal may have come back after that round stopped for want
 * of it (the 'online' event lands mid-round), and otherwise nothing would send until the
 * next 30-second tick. */
export function sync(): Promise<void> {
  if (running) {
    again = true
    return running
  }
  running = (async () => {
    try {
      do {
        again = false
        // Two tabs of the app share one outbox: the lock lets only one of them send.
        const locks = (navigator as Navigator & { locks?: LockManager }).locks
        if (locks) await locks.request('shouhu-outbox', () => round())
        else await round()
      } while (again)
    } finally {
      running = null
    }
  })()
  return running
}

async function round(): Promise<void> {
  if (!session.token) return
  outbox.sending = true
  const tried = new Set<string>()
  try {
    // Read the queue again after each record: one made while this round runs is sent in it too.
    for (;;) {
      const all = await (await db()).getAllFromIndex('outbox', 'by_seq')
      const next = all.find((r) => r.state === 'waiting' && !tried.has(r.id))
      if (!next) break
      tried.add(next.id)
      const outcome = await send(next)
      await refresh()
      if (outcome === 'stop') break
    }
  } finally {
    outbox.sending = false
    await refresh()
  }
}

export function startSyncing(): void {
  void refresh().then(() => sync())
  window.addEventListener('online', () => void sync())
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') void sync() })
  setInterval(() => { if (outbox.waiting.length && navigator.onLine) void sync() }, 30_000)
}

const FIELDS: Record<string, string> = {
  occurred_at: '时间', child_id: '孩子', kind: '联系方式', notes: '情况记录', ratings: '评分', call: '通话',
  follow_ups: '后续跟进', concerns: '发现的问题', photo: '照片', id: '记录编号',
}

/** Why the server refused a record, in words that say what to do. */
export function refusalOf(problem: unknown, status: number): string {
  const errors = problemFields(problem)
  const said = errors.map(({ field, reason }) => {
    const name = field.replace(/^body\./, '').split('.')[0]
    if (name === 'occurred_at' && /future/.test(reason)) return '记录的时间晚于现在：手机的时间可能不准。请核对手机时间，并修改这条记录的时间后再发送。'
    if (name === 'child_id' && /closed/.test(reason)) return '孩子的档案已经关闭，这条记录无法发送。如需补记，请联系学校或乡镇的工作人员。'
    if (name === 'child_id' && /paired/.test(reason)) return '记录的那一天，您与这个孩子不在结对关系中。请核对孩子和时间。'
    return `${FIELDS[name] ?? name}：${reason}`
  })
  if (said.length) return said.join('；')
  if (status === 409) return '这条记录与已有的记录冲突，请删除后重新记录。'
  if (status === 413) return '照片太大，请删除后重新选择。'
  return problemOf(problem, status)
}
