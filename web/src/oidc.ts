// Sign-in through the county's identity provider: OpenID Connect, authorization code with PKCE
// (oidc-client-ts), for the console and the caregiver app alike. The deployment says where the
// provider is in /oidc.json beside the console ({"authority": "https://…/realms/county",
// "client_id": "shouhu-console", "app_client_id": "shouhu-app", "scope": "openid profile"};
// without app_client_id the app uses client_id too); without that file nothing here is offered.
// The access token is what the services check (shared/auth.py: the provider's JWKS, issuer,
// audience); the library is loaded only when someone signs in this way.
export interface OidcConfig { authority: string; client_id: string; app_client_id?: string; scope?: string }

/** Which front end signs in: each has its own client, callback and signed-out page. */
export type Front = 'console' | 'app'
const PATHS: Record<Front, { callback: string; signedOut: string }> = {
  console: { callback: '/callback', signedOut: '/sign-in' },
  app: { callback: '/m/callback', signedOut: '/m/sign-in' },
}

let config: Promise<OidcConfig | null> | null = null

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

async function manager(found: OidcConfig, front: Front) {
  const { UserManager, WebStorageStateStore } = await import('oidc-client-ts')
  return new UserManager({
    authority: found.authority,
    client_id: front === 'app' ? found.app_client_id ?? found.client_id : found.client_id,
    scope: found.scope ?? 'openid profile',
    response_type: 'code',   // with PKCE (the library's default for the code flow)
    redirect_uri: window.location.origin + PATHS[front].callback,
    post_logout_redirect_uri: window.location.origin + PATHS[front].signedOut,
    // The state and verifier survive the round trip through the provider, also in WeCom's browser.
    stateStore: new WebStorageStateStore({ store: window.localStorage }),
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  })
}

export async function startOidcSignIn(found: OidcConfig, front: Front, next: string): Promise<void> {
  await (await manager(found, front)).signinRedirect({ state: { next } })
}

export async function finishOidcSignIn(found: OidcConfig, front: Front): Promise<{ token: string; name?: string; next: string | null }> {
  const user = await (await manager(found, front)).signinRedirectCallback()
  const next = (user.state as { next?: string } | undefined)?.next
  return { token: user.access_token, name: user.profile.name, next: next?.startsWith('/') ? next : null }
}

/** After the local sign-out: ends the provider's session too when this tab signed in through it
 *  (else the next "sign in" would pass straight through). Resolves false when there was none. */
export async function endOidcSession(front: Front): Promise<boolean> {
  const found = await oidcConfig()
  if (!found) return false
  const users = await manager(found, front)
  const user = await users.getUser()
  if (!user) return false
  await users.signoutRedirect({ id_token_hint: user.id_token })
  return true
}
