-- The guardian's notice of a new pairing names the contact teacher (${caregiver}, asked of
-- pairing when the SMS is sent; never stored): a grandparent should know who will call.
-- Rows still holding the previous default text get the new one; edited ones are left.

UPDATE templates AS t
   SET body = d.new_body, version = t.version + 1, updated_at = now()
  FROM (VALUES
    ('pairing_created_guardian', 'zh-CN', 'default',
     '您好，学校和社区为您家孩子安排了一位联系老师，自${started_on}起，老师会定期与您联系。',
     '您好，学校和社区为您家孩子安排了联系老师${caregiver}，自${started_on}起，老师会定期与您联系。'),
    ('pairing_created_guardian', 'en', 'default',
     'Hello, the school and community have arranged a contact teacher for your child from ${started_on}, who will keep in touch with you.',
     'Hello, the school and community have arranged a contact teacher, ${caregiver}, for your child from ${started_on}, who will keep in touch with you.')
  ) AS d (template_key, locale, channel, old_body, new_body)
 WHERE t.template_key = d.template_key AND t.locale = d.locale AND t.channel = d.channel
   AND t.body = d.old_body;
