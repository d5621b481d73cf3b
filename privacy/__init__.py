"""Personal data: one place for the masks every product package applies, and the requests
customers make under 个人信息保护法 (PIPL).

Masks (privacy.masking): `mask_personal(text)` is for what people read (trainer review,
exports, reports, logs): phones, order numbers, e-mails, ID and card numbers, addresses and
names become stars. `Pseudonymizer` is for what is kept as data (training examples, test
stories): the same personal value is replaced by the same fake value of the same shape, so an
18-digit order number stays an 18-digit order number the model can learn from, and a
conversation stays consistent, but nothing real remains.

Requests (privacy.service, privacy.stores): export or delete one customer's data across the
assistant's stores, with a record of every request, and a retention limit for conversations.

    python -m privacy export --customer C0001 [--out FILE] [--by NAME]
    python -m privacy delete --phone 13812345678 --yes [--by NAME]
    python -m privacy retention [--days N]        # RETENTION_DAYS; deletes old conversations
    python -m privacy log                         # the recorded requests

Stores: Rasa's SQL tracker store, the shop (its admin API), the desk (its database, read by
reflection), and whatever registers itself (`privacy.registry.register`, e.g. analytics).
See docs/security-shop.md.
"""

from privacy.masking import (
    Pseudonymizer,
    mask_email,
    mask_order_number,
    mask_personal,
    mask_phone,
)

__all__ = ["Pseudonymizer", "mask_email", "mask_order_number", "mask_personal", "mask_phone"]
