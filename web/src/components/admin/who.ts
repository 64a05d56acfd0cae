// 最近修改 on the administration lists: who changed a row last and when (the services keep
// `updated_by`, the subject of the token that wrote it; the full story is in 变更记录).
import { longDate } from '../../format'

export function changedBy(row: { updated_by?: string | null; updated_at?: string | null }): string {
  const who = !row.updated_by || row.updated_by === 'migration' ? '系统初始设置'
    : row.updated_by === 'system' ? '系统' : row.updated_by
  return row.updated_at ? `${who}，${longDate(row.updated_at)}` : who
}
