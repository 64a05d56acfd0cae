"""Notify's columns that hold FieldCipher ciphertext, and the context each is bound to.

The routes and the delivery loop encrypt and decrypt with these declarations' `context(id)`,
so what `shouhu rekey notify` re-encrypts cannot drift from what is written.
"""

from shared.rekey import EncryptedColumn

STAFF_CONTACTS = EncryptedColumn("staff_recipients", "contacts_enc", "staff_recipients.contacts")
WEBHOOK_URL = EncryptedColumn("webhook_subscriptions", "url_enc", "webhook_subscriptions.url")
WEBHOOK_SECRET = EncryptedColumn("webhook_subscriptions", "secret_enc", "webhook_subscriptions.secret")

# A caregiver's note to a family and a family's reply: how a child is doing, in words.
FAMILY_NOTE = EncryptedColumn("family_notes", "body_enc", "family_notes.body")
FAMILY_REPLY = EncryptedColumn("family_replies", "text_enc", "family_replies.text")

ENCRYPTED_COLUMNS = (STAFF_CONTACTS, WEBHOOK_URL, WEBHOOK_SECRET, FAMILY_NOTE, FAMILY_REPLY)
