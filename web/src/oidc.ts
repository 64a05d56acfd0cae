// Sign-in through the county's identity provider: OpenID Connect, authorization code with PKCE
// (oidc-client-ts), for the console and the caregiver app alike. The deployment says where the
// provider is in /oidc.json beside the console ({"authority": "https://…/realms/county",
// "client_id": "shouhu-console", "app_client_id": "shouhu-app", "scope": "openid profile"};
// without app_client_id the app uses client_id too); without that file nothing here is offered.
// The access token is what the services check (shared/auth.py: the provider's JWKS, issuer,
// audience); the library is loaded only when someone signs in this way.
//
// Renewal: the provider's user (with its refresh token) is kept in memory only, never in the
// browser's storage, and oidc-client-ts renews the access token with it `renew_before_s`
// (default 60) seconds before it expires; each new token replaces the session's. A renewal that
// fails leaves the token to expire, and the next call's 401 ends the session as usual. After a
// reload nothing is renewed (the refresh token is gone): the token kept by src/session.ts lasts
// its lifetime. The id token is kept beside the session's token (it is what the provider's
// sign-out asks for), so 退出登录 ends the provider's session after a reload too.
export interface OidcConfig {
  authority: string; client_id: string; app_client_id?: string; scope?: string; renew_before_s?: number
}

/** Which front end signs in: each has its own client, callback and signed-out page. */
export type Front = 'console' | 'app'
const PATHS: Record<Front, { callback: string; signedOut: string }> = {
  console: { callback: '/callback', signedOut: '/sign-in' },
  app: { callback: '/m/callback', signedOut: '/m/sign-in' },
}

let config: Promise<OidcConfig | null> | null = null
type Manager = import('oidc-client-ts').UserManager
/** The manager of this tab's sign-in (its timers renew the token), while it lasts. */
let live: { front: Front; users: Manager } | null = null
const HINT_KEY = 'shouhu.oidc-id-token'
/** Where each front keeps its session's token (src/session.ts): the id token goes beside it. */
const hintStore = (front: Front): Storage => (front === 'app' ? window.localStorage : window.sessionStorage)

export function oidcConfig(): Promise<OidcConfig | null> {
  config ??= fetch('/oidc.json', { cache: 'no-store' })
    .then(async (r) => {
      // The gateway answers unknown paths with the console's page: only real JSON counts.
      if (!r.ok || !(r.headers.get('content-type') ?? '').includes('json')) return null
      const found = (await r.json()) as Partial<OidcConfig>
      return found.authority && found.client_id ? (found as OidcConfig) : null
    })
    .catch(() => null)
  return config
}

async function manager(found: OidcConfig, front: Front): Promise<Manager> {
  const { InMemoryWebStorage, UserManager, WebStorageStateStore } = await import('oidc-client-ts')
  return new UserManager({
    authority: found.authority,
    client_id: front === 'app' ? found.app_client_id ?? found.client_id : found.client_id,
    scope: found.scope ?? 'openid profile',
    response_type: 'code',   // with PKCE (the library's default for the code flow)
    redirect_uri: window.location.origin + PATHS[front].callback,
    post_logout_redirect_uri: window.location.origin + PATHS[front].signedOut,
    // The state and verifier survive the round trip through the provider, also in WeCom's browser.
    stateStore: new WebStorageStateStore({ store: window.localStorage }),
    // The refresh token stays in this page's memory.
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    automaticSilentRenew: true,
    accessTokenExpiringNotificationTimeInSeconds: found.renew_before_s ?? 60,
  })
}

export async function startOidcSignIn(found: OidcConfig, front: Front, next: string): Promise<void> {
  await (await manager(found, front)).signinRedirect({ state: { next } })
}

/** Finishes the sign-in; `renewed` is called with each access token renewed after it. */
export async function finishOidcSignIn(found: OidcConfig, front: Front,
  renewed: (token: string, name?: string) => void): Promise<{ token: string; name?: string; next: string | null }> {
  stopOidcRenewal()
  const users = await manager(found, front)
  const user = await users.signinRedirectCallback()
  if (user.id_token) hintStore(front).setItem(HINT_KEY, user.id_token)
  users.events.addUserLoaded((again) => {
    if (again.id_token) hintStore(front).setItem(HINT_KEY, again.id_token)
    renewed(again.access_token, again.profile.name)
  })
  live = { front, users }
  const next = (user.state as { next?: string } | undefined)?.next
  return { token: user.access_token, name: user.profile.name, next: next?.startsWith('/') ? next : null }
}

/** No more renewals in this tab (the session ended: signed out, or refused with 401). */
export function stopOidcRenewal(): void {
  if (!live) return
  live.users.stopSilentRenew()
  void live.users.removeUser()
  live = null
}

/** After the local sign-out: ends the provider's session too when this tab signed in through it
 *  (else the next "sign in" would pass straight through). Resolves false when there was none. */
export async function endOidcSession(front: Front): Promise<boolean> {
  stopOidcRenewal()
  const hint = hintStore(front).getItem(HINT_KEY)
  hintStore(front).removeItem(HINT_KEY)
  const found = await oidcConfig()
  if (!found || !hint) return false
  await (await manager(found, front)).signoutRedirect({ id_token_hint: hint })
  return true
}
