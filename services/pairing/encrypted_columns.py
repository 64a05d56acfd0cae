"""Pairing's columns that hold FieldCipher ciphertext, and the context each is bound to.

The routes build their contexts from these names, so what `shouhu rekey pairing`
re-encrypts cannot drift from what is written.
"""

from shared.rekey import EncryptedColumn

# A caregiver's field is bound to "caregivers.<column>:<id>" with the column's own name,
# "_enc" included (api_caregivers._encrypt is given the column name).
CAREGIVER_CONTEXT = "caregivers"
CAREGIVER_COLUMNS = ("name_enc", "phone_enc", "email_enc", "wecom_enc", "dingtalk_enc")
SUPPORT_GIVEN_BY = EncryptedColumn("support_records", "given_by_enc", "support_records.given_by")

ENCRYPTED_COLUMNS = (
    *(EncryptedColumn("caregivers", column, f"{CAREGIVER_CONTEXT}.{column}") for column in CAREGIVER_COLUMNS),
    SUPPORT_GIVEN_BY,
)
