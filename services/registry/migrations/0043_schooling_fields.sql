-- What county surveys collect that the record lacked: 在校状态 (for 入学率 and 巩固率), 寄宿,
-- 学习情况, 爱好, and particulars (特殊情况, encrypted: they often name health or family
-- matters). Parents' 外出时间 may be a month (2020-02): it lives in the encrypted contact card.
ALTER TABLE children ADD COLUMN school_status text,
                     ADD COLUMN boarding boolean,
                     ADD COLUMN study_level text,
                     ADD COLUMN hobbies text,
                     ADD COLUMN particulars_enc text;
