// What the console's forms share: the server's field errors put on the form's own fields, and
// the record's version sent back as If-Match so a stale edit is refused (412) rather than
// silently overwriting someone else's change.
import { problemFields } from './api/gateway'

/** The Chinese half of a bilingual reason ("出生日期在未来 / is in the future"). */
export function chineseReason(reason: string): string {
  const [zh] = reason.replace(/^Value error, /, '').split(' / ')
  return zh.trim() || reason
}

/** A problem's field errors keyed as the form's props: `body.guardians.0.phone` → `guardians.0.phone`. */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  const found: Record<string, string> = {}
  for (const { field, reason } of problemFields(error)) {
    const key = field.replace(/^(body|query|path|header)\./, '')
    found[key] = found[key] ? `${found[key]}；${chineseReason(reason)}` : chineseReason(reason)
  }
  return found
}

/** The errors a form does not show on any of its fields (said above the form instead). */
export function unplacedErrors(errors: Record<string, string>, shown: readonly string[]): string[] {
  return Object.entries(errors).filter(([key]) => !shown.includes(key)).map(([key, reason]) => `${key}：${reason}`)
}

export function ifMatch(version: number): { 'If-Match': string } {
  return { 'If-Match': `"${version}"` }
}

/** '' → null: an empty box means "no value" to the services. */
export function orNull(value: string | null | undefined): string | null {
  const trimmed = (value ?? '').trim()
  return trimmed ? trimmed : null
}
