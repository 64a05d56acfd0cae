// Names of division codes and schools. The services keep codes; their names come from the
// registry, which owns them: its division register (GET /registry/v1/divisions/{code}/names,
// any signed-in caller) and the county's school register (GET /registry/v1/schools, staff).
// /divisions.json, served with the console and cached by the app's service worker, is the
// fallback before sign-in and without signal; the registry's names replace it once read.
import { reactive } from 'vue'
import { session } from './session'

interface School { name: string; township_code: string }
interface Names { divisions: Record<string, string>; schools: Record<string, School> }

const names = reactive<Names>({ divisions: {}, schools: {} })
let fromFile: Promise<void> | null = null
// Per county: the registry's answer once it has been read (a failed read is tried again).
const fromRegistry = new Map<string, Promise<boolean>>()

export async function loadNames(): Promise<void> {
  await namesFromFile()
  const county = session.token ? countyOf(session.person?.jurisdiction ?? '') : null
  if (!county) return
  let reading = fromRegistry.get(county)
  if (!reading) {
    reading = readRegistry(county)
    fromRegistry.set(county, reading)
  }
  if (!(await reading)) fromRegistry.delete(county)
}

function namesFromFile(): Promise<void> {
  fromFile ??= fetch(import.meta.env.BASE_URL + 'divisions.json')
    .then((r) => (r.ok ? r.json() : { divisions: {}, schools: {} }))
    .then((data: Names) => { Object.assign(names.divisions, data.divisions); Object.assign(names.schools, data.schools) })
    .catch(() => undefined)
  return fromFile
}

/** The file's names now, the registry's when they come (the names are reactive, so what shows
 * them is redrawn): for a page that must not wait for the registry's school register, as the
 * dashboard's first render does not. */
export async function loadNamesSoon(): Promise<void> {
  await namesFromFile()
  void loadNames()
}

async function registryGet(path: string): Promise<any | null> {
  try {
    const response = await fetch('/registry' + path, { headers: { Authorization: `Bearer ${session.token}` } })
    return response.ok ? await response.json() : null
  } catch {
    return null  // offline: the file's names stay
  }
}

async function readRegistry(county: string): Promise<boolean> {
  const register = await registryGet(`/v1/divisions/${county}/names`)
  if (register) Object.assign(names.divisions, register.names)
  // The school register is read by staff only; a caregiver's cards carry their schools' names.
  if (session.person?.roles.some((r) => r !== 'caregiver')) {
    let cursor: string | null = null
    for (let pages = 0; pages < 20; pages++) {
      const page: any = await registryGet('/v1/schools?limit=500' + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''))
      if (!page) break
      for (const school of page.items) names.schools[school.id] = { name: school.name, township_code: school.township_code }
      cursor = page.next_cursor
      if (!cursor) break
    }
  }
  return register !== null
}

/** '520424108000' → '520424000000': the county a code lies in; null for a province or the country. */
export function countyOf(code: string): string | null {
  return /^\d{12}$/.test(code) && !/^\d{4}00/.test(code) ? code.slice(0, 6) + '000000' : null
}

/** 城关镇, or the code when the county has not named it. */
export function divisionName(code: string | null | undefined): string {
  if (!code) return '—'
  return names.divisions[code] ?? code
}

/** 示范县 / 城关镇 / 东风村 */
export function placeName(j: { county_code?: string; township_code?: string | null; village_code?: string | null }): string {
  return [j.county_code, j.township_code, j.village_code].filter(Boolean).map((c) => divisionName(c)).join(' / ')
}

export function schoolName(id: string | null | undefined): string {
  if (!id) return '—'
  return names.schools[id]?.name ?? id
}

/** The townships (and their schools) named for a scope prefix, for filters. */
export function townshipsIn(jurisdiction: string): { code: string; name: string }[] {
  const prefix = scopePrefix(jurisdiction)
  return Object.entries(names.divisions)
    .filter(([code]) => code.endsWith('000') && !code.endsWith('000000') && code.startsWith(prefix))
    .map(([code, name]) => ({ code, name }))
}

/** The villages (communities) of a township, for forms. */
export function villagesIn(townshipCode: string | null | undefined): { code: string; name: string }[] {
  if (!townshipCode) return []
  const prefix = townshipCode.slice(0, 9)
  return Object.entries(names.divisions)
    .filter(([code]) => code.startsWith(prefix) && code !== townshipCode)
    .map(([code, name]) => ({ code, name }))
}

export function schoolsIn(townshipCode?: string | null): { id: string; name: string; township_code: string }[] {
  return Object.entries(names.schools)
    .filter(([, school]) => !townshipCode || school.township_code === townshipCode)
    .map(([id, school]) => ({ id, name: school.name, township_code: school.township_code }))
}

/** '330102000000' → '330102'; '330102001000' → '330102001' (as the services scope). */
export function scopePrefix(code: string): string {
  const ends = [2, 4, 6, 9, 12]
  for (let i = ends.length - 1; i >= 0; i--) {
    const start = i === 0 ? 0 : ends[i - 1]
    if (/[^0]/.test(code.slice(start, ends[i]))) return code.slice(0, ends[i])
  }
  return ''
}
