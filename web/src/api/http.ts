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
import { router } from '../router'

export { problemOf, STALE_RECORD_MESSAGE } from './gateway'

export const gatewayFetch = gatewayFetchWith({
  expired() {
    endSession('expired')
    void router.replace({ name: 'sign-in', query: { next: router.currentRoute.value.fullPath } })
  },
  stale() {
    ElMessage({ type: 'warning', message: STALE_RECORD_MESSAGE, duration: 6000 })
  },
})

export const { registry, pairing, visits, notify, reports } = clientsFor(gatewayFetch)
