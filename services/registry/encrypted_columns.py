"""The registry's columns that hold FieldCipher ciphertext, and the context each is bound to.

The code that encrypts builds its contexts from these names (privacy.context, the growth
note routes), so what `shouhu rekey registry` re-encrypts cannot drift from what is written.
"""

from shared.reindex import BlindIndexColumn
from shared.rekey import EncryptedColumn

# privacy.context(field, child_id) binds "children.<field>:<child id>"; the column is "<field>_enc".
CHILD_CONTEXT = "children"
CHILD_SEALED_FIELDS = ("national_id", "address", "sensitive", "priority_reason", "contact_card", "particulars")
GROWTH_NOTE = EncryptedColumn("growth_notes", "note_enc", "growth_notes.note")
# A sheet's proposed changes to a record (the new values), until confirmed.
IMPORT_CHANGE = EncryptedColumn("import_changes", "changes_enc", "import_changes.changes")

ENCRYPTED_COLUMNS = (
    *(EncryptedColumn("children", f"{field}_enc", f"{CHILD_CONTEXT}.{field}") for field in CHILD_SEALED_FIELDS),
    GROWTH_NOTE,
    IMPORT_CHANGE,
)
# The national ID's blind index (privacy.national_id_index), recomputed from the decrypted
# national ID when the index key or suite changes.
NATIONAL_ID_INDEX = BlindIndexColumn("national_id_index", ENCRYPTED_COLUMNS[0], purpose="national_id")
BLIND_INDEX_COLUMNS = (NATIONAL_ID_INDEX,)
