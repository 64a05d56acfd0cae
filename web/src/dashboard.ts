// The dashboard's figures (工作台), as of a chosen day or now: registry's statistics and
// 建档率, pairing's 帮扶覆盖面, visits' month and year. main.ts asks for them as soon as the
// entry script runs when the tab opens on the dashboard, so the requests travel while the
// layout's and the dashboard's chunks load instead of after them (the first render waits for
// both; this way it waits for the slower, not their sum).
import { pairing, problemOf, registry, visits } from './api/http'
import type { Completeness, PairingCoverage, RegistryStatistics } from './api/views'
import type { components as Visits } from './api/visits'
import { isoDay } from './format'
import { loadNamesSoon } from './divisions'

type VisitsStatistics = Visits['schemas']['Statistics']

export interface DashboardFigures {
  stats: RegistryStatistics | null
  completeness: Completeness | null
  coverage: PairingCoverage | null
  month: VisitsStatistics | null   // the calendar month of the day asked for, up to its end
  year: VisitsStatistics | null    // 1 January of that day's year up to its end
  failure: string | null           // the first service's refusal, said once; the other figures still show
}

/** `asOf` null: now. A day (YYYY-MM-DD, the county's) asks every service as of its end. */
export async function loadFigures(asOf: string | null): Promise<DashboardFigures> {
  const day = asOf ?? undefined
  const yearStart = `${(asOf ?? isoDay(new Date())).slice(0, 4)}-01-01T00:00:00+08:00`
  try {
    const [s, c, p, m, y] = await Promise.all([
      registry.GET('/v1/statistics', { params: { query: { by: ['township'], as_of: day } } }),
      registry.GET('/v1/statistics/completeness', { params: { query: { as_of: day } } }),
      pairing.GET('/v1/statistics/coverage', { params: { query: { as_of: day } } }),
      visits.GET('/v1/statistics', { params: { query: { as_of: day, top_caregivers: 0 } } }),
      visits.GET('/v1/statistics', { params: { query: { from: yearStart, as_of: day, top_caregivers: 0 } } }),
      loadNamesSoon(),
    ])
    const failed = [s, c, p, m, y].find((r) => !r.response.ok)
    return {
      stats: (s.data as RegistryStatistics | undefined) ?? null,
      completeness: (c.data as Completeness | undefined) ?? null,
      coverage: (p.data as unknown as PairingCoverage | undefined) ?? null,
      month: m.data ?? null,
      year: y.data ?? null,
      failure: failed ? problemOf(failed.error, failed.response.status) : null,
    }
  } catch {
    return { stats: null, completeness: null, coverage: null, month: null, year: null, failure: problemOf(undefined) }
  }
}

let early: { asOf: string | null; figures: Promise<DashboardFigures> } | null = null

/** Starts the first load before the dashboard's code has arrived (main.ts). */
export function prefetchFigures(asOf: string | null): void {
  early = { asOf, figures: loadFigures(asOf) }
}

/** The prefetched figures when they are the ones asked for (once), else a fresh load. */
export function figuresAsOf(asOf: string | null): Promise<DashboardFigures> {
  const kept = early
  early = null
  return kept && kept.asOf === asOf ? kept.figures : loadFigures(asOf)
}
