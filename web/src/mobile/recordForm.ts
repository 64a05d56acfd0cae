// The record being written: its fields, the draft kept on the phone as it is typed, and the
// POST /v1/contacts body it becomes.
import { db, type PhotoFile } from './db'

export interface RecordForm {
  editing: string | null       // the id of a refused record being corrected
  child_id: string
  kind: string
  when: string                 // '' = now; else a local datetime (yyyy-mm-ddThh:mm) the caregiver chose
  minutes: string
  ratings: Record<string, number>
  notes: string
  concern: { category: string; severity: string; detail: string } | null
  follow_ups: string[]
  photos: PhotoFile[]
}

export const CALL_KINDS = ['parent_call', 'parent_video']

export function emptyForm(): RecordForm {
  return { editing: null, child_id: '', kind: '', when: '', minutes: '', ratings: {}, notes: '', concern: null, follow_ups: [], photos: [] }
}

const DRAFT = 'record'

export async function savedDraft(): Promise<RecordForm | null> {
  const draft = await (await db()).get('drafts', DRAFT)
  return draft ? { ...emptyForm(), ...(draft.value as Partial<RecordForm>) } : null
}

export async function saveDraft(form: RecordForm): Promise<void> {
  // Plain data (the reactive proxy cannot be stored); photos stay Blobs, which IndexedDB keeps.
  const value = { ...JSON.parse(JSON.stringify({ ...form, photos: [] })), photos: form.photos.map((p) => ({ name: p.name, blob: p.blob })) }
  await (await db()).put('drafts', { key: DRAFT, saved_at: new Date().toISOString(), value })
}

export async function dropDraft(): Promise<void> {
  await (await db()).delete('drafts', DRAFT)
}

/** The contact as the visits service takes it (only the fields filled in). */
export function contactBody(form: RecordForm, id: string, caregiverId: string): Record<string, unknown> {
  const body: Record<string, unknown> = {
    id, child_id: form.child_id, caregiver_id: caregiverId, kind: form.kind,
    occurred_at: (form.when ? new Date(form.when) : new Date()).toISOString(),
  }
  if (Object.keys(form.ratings).length) body.ratings = { ...form.ratings }
  if (form.notes.trim()) body.notes = form.notes.trim()
  if (CALL_KINDS.includes(form.kind) && form.minutes !== '') {
    body.call = { initiated_by: 'caregiver', duration_minutes: Number(form.minutes) }
  }
  const actions = form.follow_ups.map((a) => a.trim()).filter(Boolean)
  if (actions.length) body.follow_ups = actions.map((action) => ({ action }))
  if (form.concern?.category) {
    body.concerns = [{ category: form.concern.category, severity: form.concern.severity || 'medium',
      ...(form.concern.detail.trim() ? { detail: form.concern.detail.trim() } : {}) }]
  }
  return body
}

/** A refused record's body back in the form, to be corrected. */
export function formOf(body: Record<string, unknown>, photos: PhotoFile[], id: string): RecordForm {
  const b = body as {
    child_id: string; kind: string; occurred_at: string; ratings?: Record<string, number>; notes?: string
    call?: { duration_minutes: number }; follow_ups?: { action: string }[]
    concerns?: { category: string; severity: string; detail?: string }[]
  }
  const at = new Date(b.occurred_at)
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
  const concern = b.concerns?.[0]
  return {
    editing: id, child_id: b.child_id, kind: b.kind, when: local, minutes: b.call ? String(b.call.duration_minutes) : '',
    ratings: b.ratings ?? {}, notes: b.notes ?? '', follow_ups: (b.follow_ups ?? []).map((f) => f.action),
    concern: concern ? { category: concern.category, severity: concern.severity, detail: concern.detail ?? '' } : null,
    photos,
  }
}
