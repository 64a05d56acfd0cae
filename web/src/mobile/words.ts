// The app's words for codes. Kind and plain: a child is "孩子" and a name, never a category.
import { label } from '../format'

export const CONTACT_KINDS = ['home_visit', 'talk', 'parent_call', 'parent_video', 'letter', 'activity', 'health_check'] as const

export const kindName = (code: string) => label('contact_kind', code)
export const dutyName = (code: string) => label('duty_kind', code)

export const RATINGS: { key: string; name: string }[] = [
  { key: 'study', name: '学习' }, { key: 'daily_life', name: '生活' }, { key: 'emotions', name: '情绪' },
  { key: 'safety', name: '安全' }, { key: 'health', name: '健康' },
]

export const CONCERNS: { code: string; name: string; mandatory: boolean }[] = [
  { code: 'safety_hazard', name: '安全隐患', mandatory: false },
  { code: 'health', name: '身体健康', mandatory: false },
  { code: 'psychological_distress', name: '心理困扰', mandatory: false },
  { code: 'left_school', name: '辍学或长期缺课', mandatory: false },
  { code: 'neglect', name: '疑似无人照料', mandatory: true },
  { code: 'suspected_abuse', name: '疑似受到侵害', mandatory: true },
  { code: 'violence', name: '疑似遭受暴力', mandatory: true },
]

export const SEVERITIES: { code: string; name: string }[] = [
  { code: 'low', name: '一般' }, { code: 'medium', name: '较重' }, { code: 'high', name: '严重' }, { code: 'urgent', name: '紧急' },
]

/** 2026-12-02 → 12月2日 (the year only when it is not this year). */
export function shortDay(day: string): string {
  const [y, m, d] = day.slice(0, 10).split('-').map(Number)
  return y === new Date().getFullYear() ? `${m}月${d}日` : `${y}年${m}月${d}日`
}

/** What a duty asks, kindly: "本月家访" / "本周谈心" / "本学期书信". */
export function dutyPhrase(duty: { duty_kind: string; period_start: string; due_on: string }): string {
  // A follow-up or a plan's review has a date, not a period.
  if (duty.duty_kind === 'follow_up' || duty.duty_kind === 'plan_review') return dutyName(duty.duty_kind)
  const days = (Date.parse(duty.due_on) - Date.parse(duty.period_start)) / 86_400_000
  const period = days < 8 ? '本周' : days < 32 ? '本月' : '本学期'
  return `${period}${dutyName(duty.duty_kind)}`
}

/** The contact kind that fulfils a duty kind. */
export const kindForDuty = (dutyKind: string) => dutyKind

/** A plan's kind by the county's own name for it. */
export const PLAN_KINDS: Record<string, string> = { education: '个别教育管理方案', study: '学习帮扶计划', other: '帮扶计划' }
