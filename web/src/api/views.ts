// Short names for the generated schemas that several pages share (the types themselves come
// from the services' OpenAPI documents: npm run api).
import type { components as Registry } from './registry'
import type { components as Pairing } from './pairing'

export type Jurisdiction = Registry['schemas']['Jurisdiction']
export type Guardian = Registry['schemas']['GuardianOut']
export type Parent = Registry['schemas']['ParentOut']
export type ChildView = Registry['schemas']['ChildOut']
export type ChildPage = Registry['schemas']['ChildPage']
export type KeyCount = Registry['schemas']['Count']
export type RegistryStatistics = Registry['schemas']['Statistics']
export type Completeness = Registry['schemas']['Completeness']
export type CompletenessEntry = Completeness['townships'][number]
export type CoverageFigures = Pairing['schemas']['CoverageFigures']
export type PairingCoverage = Pairing['schemas']['Coverage']
export type PairingView = Pairing['schemas']['PairingOut']
export type CaregiverView = Pairing['schemas']['CaregiverOut']
export type ImportJob = Registry['schemas']['ImportJobOut']
export type ImportError = Registry['schemas']['RowError']
