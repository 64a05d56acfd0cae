// The API clients, generated from the services' OpenAPI documents (npm run api), all through
// the gateway's origin. One fetch wrapper gives every call the same behaviour:
//   401 → the session ends and the sign-in page says why;
//   503 → retried after Retry-After (a few times, bounded), since the services answer 503
//         when a bounded wait ran out and the request may simply be repeated;
//   412 → "someone else changed this record": the page is told to reload.
import createClient from 'openapi-fetch'
import { ElMessage } from 'element-plus'
import 'element-plus/es/components/message/style/css'
import type { paths as RegistryPaths } from './registry'
import type { paths as PairingPaths } from './pairing'
import type { paths as VisitsPaths } from './visits'
import type { paths as NotifyPaths } from './notify'
import type { paths as ReportsPaths } from './reports'
import { endSession, session } from '../session'
import { router } from '../router'

const MAX_ATTEMPTS = 4
const MAX_WAIT_S = 10

export const STALE_RECORD_MESSAGE = '该记录已被他人修改，请刷新'

function retryAfterSeconds(response: Response): number {
  const header = response.headers.get('Retry-After')
  const seconds = header === null ? NaN : Number(header)
  if (Number.isFinite(seconds)) return Math.min(Math.max(seconds, 0), MAX_WAIT_S)
  const date = header ? Date.parse(header) : NaN
  return Number.isFinite(date) ? Math.min(Math.max((date - Date.now()) / 1000, 0), MAX_WAIT_S) : 1
}

export async function gatewayFetch(request: Request): Promise<Response> {
  const template = request.clone()
  let response: Response | undefined
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const sent = attempt === 1 ? request : template.clone()
    if (session.token) sent.headers.set('Authorization', `Bearer ${session.token}`)
    response = await fetch(sent)
    if (response.status !== 503 || attempt === MAX_ATTEMPTS) break
    await new Promise((resolve) => setTimeout(resolve, retryAfterSeconds(response!) * 1000))
  }
  if (response!.status === 401 && session.token) {
    endSession('expired')
    void router.replace({ name: 'sign-in', query: { next: router.currentRoute.value.fullPath } })
  } else if (response!.status === 412) {
    ElMessage({ type: 'warning', message: STALE_RECORD_MESSAGE, duration: 6000 })
  }
  return response!
}

const options = { fetch: gatewayFetch }
export const registry = createClient<RegistryPaths>({ baseUrl: '/registry', ...options })
export const pairing = createClient<PairingPaths>({ baseUrl: '/pairing', ...options })
export const visits = createClient<VisitsPaths>({ baseUrl: '/visits', ...options })
export const notify = createClient<NotifyPaths>({ baseUrl: '/notify', ...options })
export const reports = createClient<ReportsPaths>({ baseUrl: '/reports', ...options })

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

/** A readable message for a failed call: the server's field and reason where it gave them. */
export function problemOf(error: unknown, status?: number): string {
  if (status === 404) return '未找到该记录，或不在您的管辖范围内'
  if (status === 403) return '您的角色无权进行此操作'
  if (status === 503) return '服务暂时繁忙，请稍后再试'
  // Every service answers errors as RFC 9457 problem+json: `errors` (field and reason) for
  // bad input, else `detail`.
  const problem = error as { detail?: unknown; errors?: { field?: string; reason?: string }[] } | undefined
  if (Array.isArray(problem?.errors) && problem.errors.length) {
    return problem.errors.map((d) => `${d.field ?? ''}：${d.reason ?? ''}`).join('；')
  }
  if (typeof problem?.detail === 'string') return problem.detail
  return status ? `请求失败（${status}）` : '网络连接失败，请检查网络后重试'
}
