// Who is signed in. Tokens live in memory; a development sign-in also keeps its token in
// sessionStorage (the tab only), so reloading a page does not sign a developer out. The
// caregiver app keeps it in localStorage instead (keepSessionIn), so a phone stays signed in
// for the token's lifetime, also when the app is opened again without signal.
import { reactive, readonly } from 'vue'

export interface Person {
  subject: string
  roles: string[]
  jurisdiction: string
  caregiverId?: string
  /** A school head's or school staff's school (the token's school_id): what they may see. */
  school?: string
  permissions: string[]
  label?: string
}

interface SessionState {
  token: string | null
  person: Person | null
  endedBecause: 'expired' | 'signed_out' | null
}

const STORAGE_KEY = 'shouhu.dev-session'
const state = reactive<SessionState>({ token: null, person: null, endedBecause: null })
let storage: Storage = sessionStorage

/** Where a remembered sign-in is kept (before the first restore()). */
export function keepSessionIn(kept: Storage): void {
  storage = kept
}

function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? ''
  const json = decodeURIComponent(Array.from(atob(payload.replace(/-/g, '+').replace(/_/g, '/')),
    (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''))
  return JSON.parse(json)
}

export function personOf(token: string, label?: string): Person {
  const claims = claimsOf(token)
  return {
    subject: String(claims.sub ?? ''),
    roles: (claims.roles as string[] | undefined) ?? [],
    jurisdiction: String(claims.jurisdiction ?? ''),
    caregiverId: claims.caregiver_id as string | undefined,
    school: claims.school_id as string | undefined,
    permissions: (claims.permissions as string[] | undefined) ?? [],
    label,
  }
}

export function signIn(token: string, label?: string, remember = false): void {
  state.token = token
  state.person = personOf(token, label)
  state.endedBecause = null
  if (remember) storage.setItem(STORAGE_KEY, JSON.stringify({ token, label }))
}

/** A renewed token of the same person (src/oidc.ts): replaces the one in use, where it was kept.
 *  Ignored once the session has ended or someone else has signed in. */
export function renewToken(token: string, label?: string): void {
  if (!state.token || personOf(token).subject !== state.person?.subject) return
  signIn(token, label ?? state.person?.label, true)
}

export function endSession(reason: 'expired' | 'signed_out'): void {
  state.token = null
  state.person = null
  state.endedBecause = reason
  storage.removeItem(STORAGE_KEY)
}

export function restore(): void {
  const saved = storage.getItem(STORAGE_KEY)
  if (!saved || state.token) return
  try {
    const { token, label } = JSON.parse(saved) as { token: string; label?: string }
    const exp = Number(claimsOf(token).exp ?? 0)
    if (exp * 1000 > Date.now()) signIn(token, label)
    else storage.removeItem(STORAGE_KEY)
  } catch {
    storage.removeItem(STORAGE_KEY)
  }
}

export function isStaff(person: { readonly roles: readonly string[] } | null): boolean {
  return !!person && person.roles.some((r) => ['admin', 'county_staff', 'township_staff', 'school_staff'].includes(r))
}

export const session = readonly(state)
