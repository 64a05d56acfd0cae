// The registry's and pairing's answers that the console reads but whose routes declare no
// response model (their OpenAPI schema is `{}`): the shapes below are what the services'
// docs (docs/registry.md, docs/pairing.md) specify. Requests, paths and parameters are typed
// from the generated documents; only these answers are described here.
import type { components as Registry } from './registry'

export type Jurisdiction = Registry['schemas']['Jurisdiction']

export interface Guardian {
  id: string; relation: string; relation_word?: string | null; name?: string | null; age?: number | null; health?: string | null; occupation?: string | null
  phone?: string | null; address?: string | null; entrusted?: boolean
}

export interface Parent { id: string; relation: string; name?: string | null; work_place?: string | null; phone?: string | null; away_since?: string | null }

export interface ChildView {
  id: string; name: string; gender: string; birth_date: string; national_id: string | null
  ethnicity: string | null; household_type: string | null; jurisdiction: Jurisdiction
  school_id: string | null; grade: string | null; class_name: string | null; address: string | null
  left_behind_type: string | null; categories: string[]; priority: boolean
  guardians: Guardian[]; parents: Parent[]; status: string; close_reason: string | null
  version: number; masked: boolean; created_at: string; updated_at: string
}

export interface ChildPage { items: ChildView[]; next_cursor: string | null }

export interface KeyCount { key: string | null; count: number }
export interface RegistryStatistics { status: string; total: number; township?: KeyCount[]; school?: KeyCount[]; category?: KeyCount[] }

export interface CompletenessEntry { code: string; township_code: string; expected: number; registered: number; rate: number | null }
export interface Completeness {
  townships: CompletenessEntry[]; schools: CompletenessEntry[]; expected_total: number; registered_total: number
  rate: number | null; not_reported: { townships: string[]; schools: string[] }
}

export interface CoverageFigures { active_children: number; paired: number; coverage: number | null; priority_coverage: number | null }
export interface PairingCoverage {
  total: CoverageFigures
  by_township: (CoverageFigures & { township_code: string })[]
  by_school: (CoverageFigures & { school_id: string })[]
}

export interface PairingView {
  id: string; child_id: string; caregiver_id: string; role: string; started_on: string; ended_on: string | null
  end_reason: string | null; active: boolean
}

export interface CaregiverView {
  id: string; kind: string; name: string | null; school_id: string | null; capacity: number; load: number; free: number
  jurisdiction: Jurisdiction; active: boolean
}

export interface ImportJob {
  id: string; status: string; file_format: string; rows_total: number | null; rows_done: number
  rows_imported: number; rows_rejected: number; rows_existing: number; failure: string | null
  created_at: string; finished_at: string | null
  rows_changed: number; rows_conflicting: number
  proposed_mapping: Record<string, string | null>  // header → column (null: not imported), to confirm
}

export interface ImportError { row: number; column: string | null; reason: string }
