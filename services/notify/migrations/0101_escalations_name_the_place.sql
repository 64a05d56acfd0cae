-- Staff escalations of a missed duty say where, by name: the township, village and school of
-- the child (${place}, composed in from the registry's division and school registers when the
-- message is sent or read; never stored). Rows still holding the previous default text get
-- the new one; an edited template is left as it is.

UPDATE templates AS t
   SET body = d.new_body, version = t.version + 1, updated_at = now()
  FROM (VALUES
    ('contact_overdue_staff', 'zh-CN', 'default',
     '【${level}督办】${caregiver}负责的${child}的${duty}（应于${due_on}完成）已逾期${days_overdue}天，编号${ref}，请登录系统跟进。',
     '【${level}督办】${place}：${caregiver}负责的${child}的${duty}（应于${due_on}完成）已逾期${days_overdue}天，编号${ref}，请登录系统跟进。'),
    ('contact_overdue_staff', 'en', 'default',
     '[${level} follow-up] The ${duty} with ${child} (caregiver: ${caregiver}) due on ${due_on} is ${days_overdue} days overdue, reference ${ref}. Please follow up in the system.',
     '[${level} follow-up] ${place}: the ${duty} with ${child} (caregiver: ${caregiver}) due on ${due_on} is ${days_overdue} days overdue, reference ${ref}. Please follow up in the system.')
  ) AS d (template_key, locale, channel, old_body, new_body)
 WHERE t.template_key = d.template_key AND t.locale = d.locale AND t.channel = d.channel
   AND t.body = d.old_body;
