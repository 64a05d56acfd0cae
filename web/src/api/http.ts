// The console's API clients: the gateway's fetch (src/api/gateway.ts) with the console's
// reactions:
//   401 → the session ends and the sign-in page says why;
//   503 → retried after Retry-After (a few times, bounded), since the services answer 503
//         when a bounded wait ran out and the request may simply be repeated;
//   412 → "someone else changed this record": the page is told to reload.
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import { clientsFor, gatewayFetchWith, STALE_RECORD_MESSAGE } from './gateway'
import { endSession } from '../session'
import { stopOidcRenewal } from '../oidc'
import { router } from '../router'

export { problemOf, STALE_RECORD_MESSAGE } from './gateway'

export const gatewayFetch = gatewayFetchWith({
  expired() {
    stopOidcRenewal()
    endSession('expired')
    void router.replace({ name: 'sign-in', query: { next: router.currentRoute.value.fullPath } })
  },
  stale() {
    ElMessage({ type: 'warning', message: STALE_RECORD_MESSAGE, duration: 6000 })
  },
})

export const { registry, pairing, visits, notify, reports } = clientsFor(gatewayFetch)

// Every list answers one shape: `items`, `next_cursor` (null on the last page) and sometimes
// `total`. A page that needs the whole list (to sort or count it) follows the cursor; the
// bound only stops a runaway loop, far above any list a county has.
const MAX_PAGES = 200

export interface ListPage<T> { items: T[]; next_cursor?: string | null; total?: number | null }
interface PageAnswer<T> { data?: ListPage<T>; error?: unknown; response: Response }

export async function everyPage<T>(
  fetchPage: (cursor: string | undefined) => Promise<PageAnswer<T>>,
): Promise<{ items: T[]; error?: unknown; response: Response }> {
  const items: T[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const answer = await fetchPage(cursor)
    if (!answer.response.ok || !answer.data) return { items, error: answer.error, response: answer.response }
    items.push(...answer.data.items)
    if (!answer.data.next_cursor) return { items, response: answer.response }
    cursor = answer.data.next_cursor
  }
  throw new Error('a list did not end')
}
