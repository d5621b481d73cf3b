"""Personal data in free text: one place for the masks every product package applies.

`mask_personal(text)` is for what people read (trainer review, exports, reports, logs):
phones, order numbers, e-mails, ID and card numbers, addresses and names become stars.
`Pseudonymizer` is for what is kept as data (training examples, test stories): the same
personal value is replaced by the same fake value of the same shape, so an 18-digit order
number stays an 18-digit order number the model can learn from, and a conversation stays
consistent, but nothing real remains.
"""

from privacy.masking import (
    Pseudonymizer,
    mask_email,
    mask_order_number,
    mask_personal,
    mask_phone,
)

__all__ = ["Pseudonymizer", "mask_email", "mask_order_number", "mask_personal", "mask_phone"]
