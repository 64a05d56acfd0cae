// What the app reads, each answer also kept on the phone (db.ts's cache) and shown from there
// when there is no network, with a word that it may be out of date.
import { ref } from 'vue'
import { registry, visits, problemOf } from './api'
import { recalled, remember } from './db'
import { loadNames } from '../divisions'
import type { components as Registry } from '../api/registry'
import type { components as Visits } from '../api/visits'

export type ChildCard = Registry['schemas']['ChildCard']
export type Duty = Visits['schemas']['DutyOut']
export type Contact = Visits['schemas']['ContactSummary']
export type GrowthNote = Registry['schemas']['CaregiverGrowthNote']
export type Plan = Visits['schemas']['PlanOut']

/** Set when something on screen came from the phone's copy rather than the server. */
export const fromPhone = ref(false)

export class ReadFailure extends Error {}

interface Answer<T> { data?: T; error?: unknown; response: Response }

async function cached<T>(key: string, read: () => Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>
  try {
    answer = await read()
  } catch {
    const kept = await recalled<T>(key)
    if (kept === undefined) throw new ReadFailure('没有网络，手机上也还没有保存这些内容。有信号时打开一次即可离线查看。')
    fromPhone.value = true
    return kept
  }
  if (!answer.response.ok || answer.data === undefined) throw new ReadFailure(problemOf(answer.error, answer.response.status))
  await remember(key, answer.data)
  return answer.data
}

export async function myChildren(): Promise<ChildCard[]> {
  void loadNames()
  return (await cached('children', () => registry.GET('/v1/me/children'))).items
}

export function myChild(id: string): Promise<ChildCard> {
  return cached(`child:${id}`, () => registry.GET('/v1/me/children/{child_id}', { params: { path: { child_id: id } } }))
}

/** Duties not yet done (overdue ones and those whose period has begun), soonest first. */
export async function myDuties(): Promise<Duty[]> {
  const duties = await cached('duties', () => visits.GET('/v1/me/duties', { params: { query: { state: 'open', limit: 500 } } }))
  // A caregiver owes a handful at a time: one page of 500 holds them all.
  return duties.items.filter((d) => d.state !== 'upcoming').sort((a, b) => a.due_on.localeCompare(b.due_on))
}

/** A follow-up written on a contact is done (its duty is met); needs the network. */
export async function followUpDone(dutyId: string): Promise<void> {
  const answer = await visits.POST('/v1/duties/{duty_id}/completion', { params: { path: { duty_id: dutyId } } })
  if (!answer.response.ok) throw new ReadFailure(problemOf(answer.error, answer.response.status))
}

/** What a follow-up asks ("联系学校申请营养餐补助"), read from the contact it was written on
 * (its text is the author's: the caregiver who owes it); '' when it cannot be read. */
export async function followUpAction(duty: Duty): Promise<string> {
  if (!duty.contact_id) return ''
  const contactId = duty.contact_id
  const contact = await cached(`contact:${contactId}`, () => visits.GET('/v1/contacts/{contact_id}',
    { params: { path: { contact_id: contactId } } }))
  return contact.follow_ups?.find((f) => f.duty_id === duty.id)?.action ?? ''
}

/** A plan of a child paired with me: its goals, review dates and notes. */
export function myPlan(id: string): Promise<Plan> {
  return cached(`plan:${id}`, () => visits.GET('/v1/plans/{plan_id}', { params: { path: { plan_id: id } } }))
}

/** A progress note on a plan; with `reviewOf` (a review date), it is that review and meets
 * its duty. Needs the network. */
export async function writePlanNote(planId: string, note: string, reviewOf: string | null): Promise<void> {
  const answer = await visits.POST('/v1/plans/{plan_id}/notes', {
    params: { path: { plan_id: planId } }, body: { noted_on: todayHere(), note, review_of: reviewOf } })
  if (!answer.response.ok) throw new ReadFailure(problemOf(answer.error, answer.response.status))
}

/** Today in the county's time zone (the server checks a note's day against it), 2026-12-02. */
export function todayHere(): string {
  return new Date().toLocaleDateString('en-CA', { timeZone: 'Asia/Shanghai' })
}

export async function lastContacts(childId: string): Promise<Contact[]> {
  return (await cached(`contacts:${childId}`, () => visits.GET('/v1/children/{child_id}/contacts',
    { params: { path: { child_id: childId }, query: { limit: 5 } } }))).items
}

export async function growthNotes(childId: string): Promise<GrowthNote[]> {
  return (await cached(`growth:${childId}`, () => registry.GET('/v1/me/children/{child_id}/growth-notes',
    { params: { path: { child_id: childId } } }))).items
}

/** Relation codes (guardians' and parents') by their Chinese names, from the registry's vocabulary. */
export async function relationNames(): Promise<Record<string, string>> {
  const names: Record<string, string> = {}
  try {
    const vocabulary = await cached('vocabulary', () => registry.GET('/v1/vocabulary'))
    for (const words of vocabulary.vocabularies ?? []) {
      if (words.name === 'guardian_relation' || words.name === 'parent_relation') {
        for (const value of words.values) names[value.code] = value.label
      }
    }
  } catch { /* the codes' own labels (format.ts) are shown instead */ }
  return names
}
