-- The default templates now name the child (${child}, filled in from the registry when a
-- message is sent or read; never stored). Seeding never overwrites an existing row, so the
-- rows still holding the previous default text are changed here; a template an admin has
-- edited (its text differs) is left as it is.

UPDATE templates AS t
   SET body = d.new_body, version = t.version + 1, updated_at = now()
  FROM (VALUES
    ('contact_logged', 'zh-CN', 'default',
     '您的${kind}记录已保存，谢谢您的付出。',
     '您与${child}的${kind}记录已保存，谢谢您的付出。'),
    ('contact_logged', 'en', 'default',
     'Your ${kind} has been recorded. Thank you.',
     'Your ${kind} for ${child} has been recorded. Thank you.'),
    ('duty_due_soon', 'zh-CN', 'default',
     '温馨提醒：您有一项${duty}将于${due_on}到期，请按时完成并记录。',
     '温馨提醒：${child}的${duty}将于${due_on}到期，请按时完成并记录。'),
    ('duty_due_soon', 'en', 'default',
     'Reminder: a ${duty} is due on ${due_on}. Please complete and record it.',
     'Reminder: the ${duty} with ${child} is due on ${due_on}. Please complete and record it.'),
    ('contact_overdue', 'zh-CN', 'default',
     '提醒：您有一项${duty}（应于${due_on}完成）已逾期${days_overdue}天，请尽快完成并记录。',
     '${child}的${duty}还未记录，${due_on}已到期（逾期${days_overdue}天），请尽快完成并记录。'),
    ('contact_overdue', 'en', 'default',
     'A ${duty} due on ${due_on} is ${days_overdue} days overdue. Please complete and record it soon.',
     'The ${duty} with ${child} has not been recorded; it was due on ${due_on}, ${days_overdue} days ago. Please complete and record it soon.'),
    ('contact_overdue_staff', 'zh-CN', 'default',
     '【${level}督办】辖区内一项${duty}（应于${due_on}完成）已逾期${days_overdue}天，编号${ref}，请登录系统跟进。',
     '【${level}督办】${child}的${duty}（应于${due_on}完成）已逾期${days_overdue}天，编号${ref}，请登录系统跟进。'),
    ('contact_overdue_staff', 'en', 'default',
     '[${level} follow-up] A ${duty} due on ${due_on} is ${days_overdue} days overdue in your area, reference ${ref}. Please follow up in the system.',
     '[${level} follow-up] The ${duty} with ${child} due on ${due_on} is ${days_overdue} days overdue, reference ${ref}. Please follow up in the system.'),
    ('pairing_created', 'zh-CN', 'default',
     '您有一项新的结对安排，自${started_on}起生效，请登录查看。',
     '您与${child}的结对自${started_on}起生效，请登录查看孩子的联系卡。'),
    ('pairing_created', 'en', 'default',
     'You have a new pairing starting on ${started_on}. Please sign in to see it.',
     'You are paired with ${child} from ${started_on}. Please sign in to see the child''s contact card.'),
    ('pairing_ended', 'zh-CN', 'default',
     '您的一项结对安排已于${ended_on}结束，感谢您的付出。',
     '您与${child}的结对已于${ended_on}结束，感谢您的付出。'),
    ('pairing_ended', 'en', 'default',
     'One of your pairings ended on ${ended_on}. Thank you.',
     'Your pairing with ${child} ended on ${ended_on}. Thank you.')
  ) AS d (template_key, locale, channel, old_body, new_body)
 WHERE t.template_key = d.template_key AND t.locale = d.locale AND t.channel = d.channel
   AND t.body = d.old_body;
