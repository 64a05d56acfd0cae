// Sign-in through the county's identity provider: OpenID Connect, authorization code with PKCE
// (oidc-client-ts), for the console and the caregiver app alike. The deployment says where the
// provider is in /oidc.json beside the console ({"authority": "https://…/realms/county",
// "client_id": "shouhu-web", "scope": "openid profile"}); without that file nothing here is
// offered. The access token is what the services check (shared/auth.py: the provider's JWKS,
// issuer, audience); the library is loaded only when someone signs in this way.
export interface OidcConfig { authority: string; client_id: string; scope?: string }

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

/** `callbackPath`: where the provider sends the browser back, e.g. '/m/callback'. */
async function manager(found: OidcConfig, callbackPath: string) {
  const { UserManager, WebStorageStateStore } = await import('oidc-client-ts')
  return new UserManager({
    authority: found.authority,
    client_id: found.client_id,
    scope: found.scope ?? 'openid profile',
    response_type: 'code',   // with PKCE (the library's default for the code flow)
    redirect_uri: window.location.origin + callbackPath,
    // The state and verifier survive the round trip through the provider, also in WeCom's browser.
    stateStore: new WebStorageStateStore({ store: window.localStorage }),
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  })
}

export async function startOidcSignIn(found: OidcConfig, callbackPath: string, next: string): Promise<void> {
  await (await manager(found, callbackPath)).signinRedirect({ state: { next } })
}

export async function finishOidcSignIn(found: OidcConfig, callbackPath: string): Promise<{ token: string; name?: string; next: string }> {
  const user = await (await manager(found, callbackPath)).signinRedirectCallback()
  const next = (user.state as { next?: string } | undefined)?.next
  return { token: user.access_token, name: user.profile.name, next: next?.startsWith('/') ? next : '/' }
}
