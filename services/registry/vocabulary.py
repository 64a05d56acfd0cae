"""Every coded value of a child's record, defined once: its code, its Chinese label, and
the other words counties' survey sheets use for it. The API's input types, the domain's
rules, the import's readers, the template's drop-downs, the exports and the error messages
are all derived from here; `GET /v1/vocabulary` serves it.

The codes of the values other services read in events (public categories, left-behind
types, close reasons) are the event contract's (shared.contracts.events); this module
gives them labels and synonyms, and a test checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Vocabulary:
    name: str
    zh: str
    en: str
    labels: dict[str, str]                                   # code → Chinese label (the template's word)
    synonyms: dict[str, str] = field(default_factory=dict)  # other words sheets use → code

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def label(self, code: str | None) -> str | None:
        return self.labels.get(code, code) if code is not None else None

    def reading(self) -> dict[str, str]:
        """Every word a sheet may hold → code: the labels, the synonyms and the codes."""
        words = {code: code for code in self.labels}
        words.update({label: code for code, label in self.labels.items()})
        words.update(self.synonyms)
        return words

    def allowed_text(self) -> str:
        """'双亲外出、单亲外出、…': what an error tells the clerk to choose from."""
        return "、".join(self.labels.values())

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "zh": self.zh, "en": self.en,
                "values": [{"code": code, "label": label} for code, label in self.labels.items()],
                "synonyms": dict(sorted(self.synonyms.items()))}


GENDER = Vocabulary("gender", "性别", "Gender", {"male": "男", "female": "女"},
                    {"男性": "male", "女性": "female", "m": "male", "f": "female"})
HOUSEHOLD_TYPE = Vocabulary(
    "household_type", "户籍类型", "Household registration",
    {"agricultural": "农业", "non_agricultural": "非农业", "resident": "居民", "unregistered": "未落户"},
    {"农业户口": "agricultural", "农村": "agricultural", "非农业户口": "non_agricultural", "城镇": "non_agricultural",
     "居民户口": "resident", "无户口": "unregistered", "未登记户口": "unregistered"})
LEFT_BEHIND_TYPE = Vocabulary(
    "left_behind_type", "留守类型", "Left-behind type",
    {"both_parents_away": "双亲外出", "one_parent_away_other_able": "单亲外出",
     "one_parent_away_other_unable": "单亲外出另一方无监护能力", "not_left_behind": "非留守"},
    {"父母双方外出": "both_parents_away", "双亲外出务工": "both_parents_away", "父母均外出": "both_parents_away",
     "单亲留守": "one_parent_away_other_able", "父亲外出": "one_parent_away_other_able",
     "母亲外出": "one_parent_away_other_able", "一方外出": "one_parent_away_other_able",
     "单亲外出另一方无抚养能力": "one_parent_away_other_unable", "不是留守": "not_left_behind",
     "否": "not_left_behind"})
# Public categories travel in events; the sensitive ones never leave the registry in clear.
CATEGORY = Vocabulary(
    "categories", "儿童类别", "Categories",
    {"left_behind": "留守儿童", "migrant": "流动儿童", "orphan": "孤儿", "de_facto_unsupported": "事实无人抚养儿童",
     "disabled": "残疾儿童"},
    {"留守": "left_behind", "农村留守儿童": "left_behind", "流动": "migrant", "随迁子女": "migrant",
     "孤儿童": "orphan", "事实无人抚养": "de_facto_unsupported", "残疾": "disabled", "残障儿童": "disabled"})
SENSITIVE_CATEGORY = Vocabulary(
    "sensitive_categories", "困境类别", "Sensitive categories",
    {"incarcerated_parent": "服刑在押人员子女", "street_child": "流浪儿童", "hiv_affected": "受艾滋病影响儿童",
     "drug_using_family": "吸毒家庭子女", "violence_victim": "受暴力侵害儿童"},
    {"服刑人员子女": "incarcerated_parent", "在押人员子女": "incarcerated_parent",
     "服刑在押人员未成年子女": "incarcerated_parent",
     "流浪": "street_child", "流浪乞讨儿童": "street_child", "受艾滋病影响": "hiv_affected", "艾滋病影响儿童": "hiv_affected",
     "吸毒家庭": "drug_using_family", "吸毒人员子女": "drug_using_family", "受暴力侵害": "violence_victim"})
# A guardian's relation: the group the record keeps, and every word counties write for it
# (the word itself is kept beside the group in the contact card).
GUARDIAN_RELATION = Vocabulary(
    "guardian_relation", "监护人关系", "Guardian relation",
    {"grandparent": "祖父母", "relative": "其他亲属", "parent": "父母", "sibling": "兄姐", "neighbour": "邻居",
     "other": "其他"},
    {**dict.fromkeys(("祖父", "祖母", "外祖父", "外祖母", "外祖父母", "爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷",
                      "爷爷奶奶", "外公外婆", "祖辈"), "grandparent"),
     **dict.fromkeys(("亲属", "亲戚", "叔叔", "叔父", "伯伯", "伯父", "伯母", "婶婶", "姑姑", "姑妈", "姑父", "舅舅",
                      "舅妈", "姨妈", "姨父", "小姨", "堂兄", "堂姐", "表哥", "表姐", "叔伯", "其他亲戚"), "relative"),
     **dict.fromkeys(("父亲", "母亲", "爸爸", "妈妈", "父", "母"), "parent"),
     **dict.fromkeys(("哥哥", "姐姐", "兄", "姐", "兄长", "哥", "兄弟姐妹"), "sibling"),
     **dict.fromkeys(("邻里",), "neighbour"),
     **dict.fromkeys(("其它", "委托人", "朋友", "老师"), "other")})
# The template's drop-down for the relation: the words clerks pick most (Excel's list is short).
GUARDIAN_RELATION_CHOICES = ("祖父", "祖母", "外祖父", "外祖母", "父亲", "母亲", "哥哥", "姐姐", "其他亲属", "邻居", "其他")
PARENT_RELATION = Vocabulary("parent_relation", "父母", "Parent", {"father": "父亲", "mother": "母亲"})
CLOSE_REASON = Vocabulary(
    "close_reason", "结案原因", "Close reason",
    {"parents_returned": "父母返乡", "aged_out": "年满18周岁", "moved_away": "迁出本县", "other": "其他"})
STATUS = Vocabulary("status", "档案状态", "Record status",
                    {"active": "在册", "transferred": "已转接", "closed": "已结案"})
GROWTH_AREA = Vocabulary(
    "growth_area", "成长记录类别", "Growth record area",
    {"study": "学习", "activities": "活动", "behaviour": "行为", "emotions": "情绪", "health": "健康", "other": "其他"})
YES_NO = Vocabulary("yes_no", "是否", "Yes or no", {"yes": "是", "no": "否"},
                    {"y": "yes", "n": "no", "1": "yes", "0": "no", "true": "yes", "false": "no", "有": "yes", "无": "no"})

SCHOOL_STATUS = Vocabulary(
    "school_status", "在校状态", "Schooling",
    {"in_school": "在校", "not_enrolled": "未入学", "suspended": "休学", "dropped_out": "辍学", "graduated": "毕业"},
    {"在读": "in_school", "就读": "in_school", "在校生": "in_school", "失学": "dropped_out", "辍学在家": "dropped_out",
     "未上学": "not_enrolled", "学龄前": "not_enrolled", "已毕业": "graduated"})
STUDY_LEVEL = Vocabulary(
    "study_level", "学习情况", "Schoolwork",
    {"good": "良好", "average": "一般", "struggling": "较差"},
    {"优": "good", "优秀": "good", "好": "good", "良": "good", "中": "average", "中等": "average", "一般般": "average",
     "差": "struggling", "较弱": "struggling", "困难": "struggling"})
GUARDIAN_HEALTH_CHOICES = ("健康", "一般", "较差", "患病", "残疾")
SCHOOL_STAGE = Vocabulary(
    "school_stage", "学段", "School stage",
    {"kindergarten": "幼儿园", "primary": "小学", "junior": "初中", "nine_year": "九年一贯制", "complete_middle": "完全中学",
     "senior": "高中", "twelve_year": "十二年一贯制", "special": "特殊教育学校", "teaching_point": "教学点"},
    {"九年制": "nine_year", "九年一贯制学校": "nine_year", "完中": "complete_middle", "中心校": "primary",
     "中心小学": "primary", "小学教学点": "teaching_point", "特校": "special", "特教学校": "special",
     "初级中学": "junior", "高级中学": "senior", "幼儿园（学前）": "kindergarten"})

ALL = (GENDER, HOUSEHOLD_TYPE, LEFT_BEHIND_TYPE, CATEGORY, SENSITIVE_CATEGORY, GUARDIAN_RELATION, PARENT_RELATION,
       CLOSE_REASON, STATUS, GROWTH_AREA, YES_NO, SCHOOL_STAGE, SCHOOL_STATUS,
       STUDY_LEVEL)
BY_NAME = {vocabulary.name: vocabulary for vocabulary in ALL}


def category_kind(word: str) -> tuple[str, str] | None:
    """A category word from either sheet column → ('categories' | 'sensitive_categories',
    code): survey sheets put 孤儿 and 服刑人员子女 in one column."""
    for vocabulary in (CATEGORY, SENSITIVE_CATEGORY):
        code = vocabulary.reading().get(word)
        if code is not None:
            return vocabulary.name, code
    return None


def label_of_any(code: str) -> str:
    """The Chinese label of a code of any vocabulary (error messages naming a value)."""
    for vocabulary in ALL:
        if code in vocabulary.labels:
            return vocabulary.labels[code]
    return code
