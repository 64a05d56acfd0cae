// How the console writes dates, counts and masked values (the county's own forms), and the
// Chinese label of every code the APIs return.

const COUNTY_TZ = 'Asia/Shanghai'

/** 2026-12-02 or an ISO timestamp → 2026年12月2日 (in the county's time zone). */
/** 外出时间 may be a month ("2020-02", as surveys record it) or a day. */
export function monthOrDate(value: string | null | undefined): string {
  if (value && /^\d{4}-\d{2}$/.test(value)) return `${value.slice(0, 4)}年${Number(value.slice(5))}月`
  return longDate(value)
}

export function longDate(value: string | null | undefined): string {
  if (!value) return '—'
  const day = /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : isoDay(new Date(value))
  const [y, m, d] = day.split('-').map(Number)
  return `${y}年${m}月${d}日`
}

/** An ISO timestamp → 2026-12-02 in the county's time zone (for dense lists). */
export function isoDay(date: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: COUNTY_TZ, year: 'numeric', month: '2-digit', day: '2-digit' })
    .format(date)
}

export function monthLabel(yyyyMm: string): string {
  const [y, m] = yyyyMm.split('-').map(Number)
  return `${y}年${m}月`
}

export function count(n: number | null | undefined, unit = '人'): string {
  return n === null || n === undefined ? '—' : `${n.toLocaleString('en-US')}${unit}`
}

/** Money kept in fen, as 1,234.50元. */
export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return '—'
  return `${(fen / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}元`
}

export function percent(share: number | null | undefined): string {
  return share === null || share === undefined ? '—' : `${(share * 100).toFixed(1)}%`
}

/** As counties print it: the first 4 and last 4 of an ID number (5204**********6659). The
 *  registry already masks; this only ever hides more, never reveals. */
export function maskedId(value: string | null | undefined): string {
  if (!value) return '—'
  return value.length > 8 ? value.slice(0, 4) + '*'.repeat(value.length - 8) + value.slice(-4) : '****'
}

/** 138****8000 */
export function maskedPhone(value: string | null | undefined): string {
  if (!value) return '—'
  const digits = value.replace(/^\+86/, '')
  return digits.length >= 8 ? digits.slice(0, 3) + '****' + digits.slice(-4) : '****'
}

const LABELS: Record<string, Record<string, string>> = {
  role: {
    admin: '系统管理员', county_staff: '县级工作人员', township_staff: '乡镇（街道）工作人员',
    school_staff: '学校工作人员', caregiver: '结对帮扶人', service: '系统服务',
  },
  gender: { male: '男', female: '女' },
  status: { active: '在册', transferred: '已转学/迁移', closed: '已销档' },
  category: {
    left_behind: '留守儿童', migrant: '流动儿童', orphan: '孤儿', de_facto_unsupported: '事实无人抚养儿童',
    disabled: '残疾儿童',
  },
  left_behind_type: {
    both_parents_away: '父母均外出务工', one_parent_away_other_unable: '一方外出、另一方无监护能力',
    not_left_behind: '非留守', one_parent_away_other_able: '一方外出、另一方有监护能力',
  },
  // The registry's groups of a guardian's relation (the county's own word goes beside it).
  guardian_relation: {
    grandparent: '祖父母', relative: '其他亲属', parent: '父母', sibling: '兄弟姐妹', neighbour: '邻居', other: '其他',
  },
  parent_relation: { father: '父亲', mother: '母亲' },
  household_type: { agricultural: '农业户口', non_agricultural: '非农业户口', resident: '居民户口', unregistered: '无户口' },
  close_reason: { parents_returned: '父母返乡', aged_out: '年满十八周岁', moved_away: '迁出本县', other: '其他' },
  duty_kind: { home_visit: '家访', talk: '谈心', parent_call: '亲情电话', letter: '书信', guardian_talk: '与监护人谈心',
    plan_review: '帮扶计划回顾', follow_up: '后续跟进' },
  contact_kind: {
    home_visit: '家访', talk: '谈心', parent_call: '亲情电话', parent_video: '亲情视频', letter: '书信',
    health_check: '健康检查', activity: '关爱活动', guardian_training: '监护人培训', guardian_talk: '与监护人谈心',
  },
  duty_state: {
    upcoming: '未开始', open: '进行中', due_soon: '即将到期', overdue: '已逾期', fulfilled: '已完成', cancelled: '已取消',
  },
  escalation_level: { caregiver: '帮扶人', school: '学校', township: '乡镇', county: '县级' },
  caregiver_kind: {
    teacher: '教师', class_teacher: '班主任', volunteer: '志愿者', caring_mother: '爱心妈妈', party_member: '党员干部',
    village_official: '村干部', children_director: '儿童主任', student_buddy: '学生伙伴',
  },
  pairing_role: { lead: '主责帮扶人', helper: '协助帮扶人' },
  concern_status: { open: '待确认', acknowledged: '已确认', referred: '已转介', accepted: '已受理', following_up: '跟进中', closed: '已结案' },
  concern_outcome: {
    resolved: '问题已解决', protected: '已落实保护措施', guardianship_changed: '监护已变更', prosecuted: '已依法追究责任',
    unfounded: '经核实不属实', moved_away: '儿童已迁出', other: '其他',
  },
  // As the caregiver app words them (src/mobile/words.ts).
  concern_category: { safety_hazard: '安全隐患', health: '身体健康', psychological_distress: '心理困扰',
    left_school: '辍学或长期缺课', neglect: '疑似无人照料', suspected_abuse: '疑似受到侵害', violence: '疑似遭受暴力' },
  severity: { low: '一般', medium: '较重', high: '严重', urgent: '紧急' },
  delivery_status: { held: '暂存待发', pending: '待发送', sent: '已发送', delivered: '已送达', failed: '发送失败', read: '已读', undeliverable: '无法送达' },
  channel: { sms: '短信', email: '电子邮件', wecom: '企业微信', dingtalk: '钉钉', in_app: '应用内消息', webhook: '接口推送' },
  undeliverable_reason: { no_recipient: '没有接收人', no_provider: '该渠道未配置发送服务' },
  setup_what: { recipients: '接收人', duty_roster: '值班表', provider: '发送服务', expected_counts: '应建档人数' },
  event_type: {
    VisitLogged: '联系已记录', DutyDueSoon: '任务即将到期', ContactOverdue: '任务逾期', ConcernRaised: '发现问题',
    ConcernEscalated: '问题升级', ConcernAcknowledged: '问题已确认', ConcernDeadlineMissed: '问题办理超期',
    PairingCreated: '结对建立', PairingEnded: '结对结束',
  },
  audience: {
    caregiver: '结对帮扶人', guardian: '监护人', school_staff: '学校', township_staff: '乡镇（街道）', county_staff: '县级',
    on_duty: '值班人员',
  },
  match_level: { school: '同校', village: '同村', township: '同乡镇' },
  proposal_status: { proposed: '待确认', accepted: '已结对', refused: '未能结对' },
  support_kind: { financial_aid: '资金帮扶', in_kind: '物资帮扶' },
  plan_kind: { education: '个别教育管理方案', study: '学习帮扶计划', other: '其他帮扶计划' },
  plan_status: { open: '执行中', closed: '已结束' },
  plan_result: { achieved: '达到目标', partly_achieved: '部分达到', not_achieved: '未达到', transferred: '已转交（儿童转学或迁出）', other: '其他' },
  review_state: { open: '待回顾', reviewed: '已回顾', cancelled: '已取消' },
  agency_kind: { police: '公安', civil_affairs: '民政', womens_federation: '妇联', education: '教育', procuratorate: '检察院',
    hospital: '医院', legal_aid: '司法所/法律援助', other: '其他' },
  age_band: { '0-5': '0-5岁', '6-11': '6-11岁', '12-13': '12-13岁', '14-15': '14-15岁', '16-17': '16-17岁', '18+': '18岁以上', unknown: '不详' },
  relation: {
    grandfather: '祖父', grandmother: '祖母', maternal_grandfather: '外祖父', maternal_grandmother: '外祖母',
    father: '父亲', mother: '母亲', grandparent: '祖父母', relative: '其他亲属', parent: '父母', neighbour: '邻居', uncle: '叔伯/舅舅', aunt: '姑姨/舅妈', sibling: '兄弟姐妹', other: '其他',
  },
  import_status: { awaiting_mapping: '待确认列对应', pending: '排队中', running: '导入中', done: '已完成', failed: '失败' },
  // The registry's sheet columns (services/registry/sheets.py), as the template's headers say them.
  import_column: {
    name: '姓名', gender: '性别', birth_date: '出生日期', national_id: '身份证号', ethnicity: '民族', household_type: '户籍类型',
    county_code: '县区代码', township_code: '乡镇代码', village_code: '村社区代码', school_id: '学校代码', grade: '年级',
    class_name: '班级', address: '家庭住址', left_behind_type: '留守类型', categories: '儿童类别',
    sensitive_categories: '困境类别', priority: '重点关注', priority_reason: '重点关注原因', guardian_name: '监护人姓名',
    guardian_relation: '监护人关系', guardian_age: '监护人年龄', guardian_health: '监护人健康状况', guardian_occupation: '监护人职业',
    guardian_phone: '监护人电话', guardian_address: '监护人住址', father_name: '父亲姓名', father_work_place: '父亲务工地',
    father_phone: '父亲电话', father_away_since: '父亲外出时间', mother_name: '母亲姓名', mother_work_place: '母亲务工地',
    mother_phone: '母亲电话', mother_away_since: '母亲外出时间', consent_evidence: '监护人同意书编号', statutory_duty: '依法定职责登记',
    school_status: '在校状态', boarding: '寄宿', study_level: '学习情况', hobbies: '爱好特长', particulars: '特殊情况',
  },
}

/** The Chinese label of a code; the code itself only when the console does not know it. */
export function label(kind: keyof typeof LABELS | string, code: string | null | undefined): string {
  if (code === null || code === undefined || code === '') return '—'
  return LABELS[kind]?.[code] ?? code
}

export function options(kind: string): { value: string; label: string }[] {
  return Object.entries(LABELS[kind] ?? {}).map(([value, text]) => ({ value, label: text }))
}
