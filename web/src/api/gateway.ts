// What the console and the caregiver app share for talking to the gateway: one fetch with the
// bearer token and bounded 503 retries, the typed clients generated from the services' OpenAPI
// documents (npm run api), and readable messages for problem+json answers. Each app gives its
// own reaction to an expired session (401) and to a stale record (412).
import createClient from 'openapi-fetch'
import type { paths as RegistryPaths } from './registry'
import type { paths as PairingPaths } from './pairing'
import type { paths as VisitsPaths } from './visits'
import type { paths as NotifyPaths } from './notify'
import type { paths as ReportsPaths } from './reports'
import { session } from '../session'

const MAX_ATTEMPTS = 4
const MAX_WAIT_S = 10

export const STALE_RECORD_MESSAGE = '该记录已被他人修改，请刷新'

export interface GatewayReactions {
  /** A 401 while signed in: the session has ended. */
  expired(): void
  /** A 412: someone else changed the record since it was read. */
  stale(): void
}

function retryAfterSeconds(response: Response): number {
  const header = response.headers.get('Retry-After')
  const seconds = header === null ? NaN : Number(header)
  if (Number.isFinite(seconds)) return Math.min(Math.max(seconds, 0), MAX_WAIT_S)
  const date = header ? Date.parse(header) : NaN
  return Number.isFinite(date) ? Math.min(Math.max((date - Date.now()) / 1000, 0), MAX_WAIT_S) : 1
}

export function gatewayFetchWith(react: GatewayReactions): (request: Request) => Promise<Response> {
  return async (request: Request): Promise<Response> => {
    const template = request.clone()
    let response: Response | undefined
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const sent = attempt === 1 ? request : template.clone()
      if (session.token) sent.headers.set('Authorization', `Bearer ${session.token}`)
      response = await fetch(sent)
      if (response.status !== 503 || attempt === MAX_ATTEMPTS) break
      await new Promise((resolve) => setTimeout(resolve, retryAfterSeconds(response!) * 1000))
    }
    if (response!.status === 401 && session.token) react.expired()
    else if (response!.status === 412) react.stale()
    return response!
  }
}

export function clientsFor(fetch: (request: Request) => Promise<Response>) {
  const options = { fetch }
  return {
    registry: createClient<RegistryPaths>({ baseUrl: '/registry', ...options }),
    pairing: createClient<PairingPaths>({ baseUrl: '/pairing', ...options }),
    visits: createClient<VisitsPaths>({ baseUrl: '/visits', ...options }),
    notify: createClient<NotifyPaths>({ baseUrl: '/notify', ...options }),
    reports: createClient<ReportsPaths>({ baseUrl: '/reports', ...options }),
  }
}

/** A readable message for a failed call: the server's field and reason where it gave them. */
export function problemOf(error: unknown, status?: number): string {
  if (status === 404) return '未找到该记录，或不在您的管辖范围内'
  if (status === 403 && !hasFieldErrors(error)) return '您的角色无权进行此操作'
  if (status === 503) return '服务暂时繁忙，请稍后再试'
  // Every service answers errors as RFC 9457 problem+json: `errors` (field and reason) for
  // bad input, else `detail`.
  const problem = error as { detail?: unknown; errors?: { field?: string; reason?: string }[] } | undefined
  if (hasFieldErrors(error)) {
    return problem!.errors!.map((d) => `${d.field ?? ''}：${d.reason ?? ''}`).join('；')
  }
  if (typeof problem?.detail === 'string') return problem.detail
  return status ? `请求失败（${status}）` : '网络连接失败，请检查网络后重试'
}

function hasFieldErrors(error: unknown): boolean {
  return problemFields(error).length > 0
}

/** The fields a problem+json answer names, with their reasons. */
export function problemFields(error: unknown): { field: string; reason: string }[] {
  const errors = (error as { errors?: unknown } | undefined)?.errors
  if (!Array.isArray(errors)) return []
  return errors.map((e: { field?: unknown; reason?: unknown }) => ({ field: String(e.field ?? ''), reason: String(e.reason ?? '') }))
}
