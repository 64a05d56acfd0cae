// What the console's forms share: the server's field errors put on the form's own fields, and
// the record's version sent back as If-Match so a stale edit is refused (412) rather than
// silently overwriting someone else's change.
import { problemFields } from './api/gateway'

// pydantic's own reasons for the commonest mistakes in a form (an empty box, an empty list,
// nothing chosen), said in Chinese; any other reason is shown as the server gave it.
const PYDANTIC_REASONS: [RegExp, string][] = [
  [/^String should have at least 1 character/, '请填写此项'],
  [/^String should have at most (\d+) characters?/, '最多$1个字'],
  [/^List should have at least 1 item/, '请至少填写一项'],
  [/^Field required/, '请填写此项'],
  [/^Input should be a valid UUID/, '请选择'],
  [/^Input should be a valid date/, '请选择日期'],
]

/** The Chinese half of a bilingual reason ("出生日期在未来 / is in the future"). */
export function chineseReason(reason: string): string {
  const [zh] = reason.replace(/^Value error, /, '').split(' / ')
  for (const [pattern, said] of PYDANTIC_REASONS) {
    const found = zh.match(pattern)
    if (found) return said.replace('$1', found[1] ?? '')
  }
  return zh.trim() || reason
}

/** A problem's field errors keyed as the form's props: `body.guardians.0.phone` → `guardians.0.phone`. */
export function fieldErrorsOf(error: unknown): Record<string, string> {
  const found: Record<string, string> = {}
  for (const { field, reason } of problemFields(error)) {
    // `goals.0` (pydantic) and `review_dates[0]` (a rule) name a list's item the same way.
    const key = field.replace(/^(body|query|path|header)\./, '').replace(/\[(\d+)\]/g, '.$1')
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
