"""Visits' columns that hold FieldCipher ciphertext, and the context each is bound to.

The routes encrypt and decrypt with these declarations' `context(id)`, so what
`shouhu rekey visits` re-encrypts cannot drift from what is written.
"""

from shared.rekey import EncryptedColumn

CONTACT_LOCATION = EncryptedColumn("contacts", "location_enc", "visits.location")
CONTACT_NOTES = EncryptedColumn("contacts", "notes_enc", "visits.notes")
CONTACT_FOLLOW_UPS = EncryptedColumn("contacts", "follow_ups_enc", "visits.follow_ups")
CONCERN_DETAIL = EncryptedColumn("concerns", "detail_enc", "visits.concern_detail")
CONCERN_ACK_NOTE = EncryptedColumn("concerns", "ack_note_enc", "visits.ack_note")
CONCERN_CLOSURE_NOTE = EncryptedColumn("concerns", "closure_note_enc", "visits.closure_note")
CONCERN_CASE_NOTE = EncryptedColumn("concern_notes", "note_enc", "visits.case_note")
PLAN_GOALS = EncryptedColumn("plans", "goals_enc", "visits.plan_goals")
PLAN_RESULT_NOTE = EncryptedColumn("plans", "result_note_enc", "visits.plan_result_note")
PLAN_NOTE = EncryptedColumn("plan_notes", "note_enc", "visits.plan_note")
CONTACT_PHOTO = EncryptedColumn("contact_photos", "photo_enc", "visits.photo")

ENCRYPTED_COLUMNS = (CONTACT_LOCATION, CONTACT_NOTES, CONTACT_FOLLOW_UPS, CONCERN_DETAIL, CONCERN_ACK_NOTE,
                     CONCERN_CLOSURE_NOTE, CONCERN_CASE_NOTE, PLAN_GOALS, PLAN_RESULT_NOTE, PLAN_NOTE,
                     CONTACT_PHOTO)
