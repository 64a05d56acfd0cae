// The caregiver app's API clients: the console's gateway fetch (src/api/gateway.ts) with the
// app's reactions. A 401 sends the caregiver to sign in again; nothing waiting in the outbox
// is lost (it is sent after the new sign-in).
import { ref } from 'vue'
import { clientsFor, gatewayFetchWith, STALE_RECORD_MESSAGE } from '../api/gateway'
import { endSession } from '../session'
import { stopOidcRenewal } from '../oidc'
import { router } from './router'

export { problemOf } from '../api/gateway'

/** A word for the frame to show (App.vue), e.g. that someone else changed a record. */
export const notice = ref('')

export const gatewayFetch = gatewayFetchWith({
  expired() {
    stopOidcRenewal()
    endSession('expired')
    void router.replace({ name: 'sign-in', query: { next: router.currentRoute.value.fullPath } })
  },
  stale() {
    notice.value = STALE_RECORD_MESSAGE
  },
})

export const { registry, visits, notify } = clientsFor(gatewayFetch)
