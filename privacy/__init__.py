"""Personal data requests (个人信息保护法): export or delete one customer's data across the
assistant's stores, with a record of every request, and a retention limit for conversations.

    python -m privacy export --customer C0001 [--out FILE] [--by NAME]
    python -m privacy delete --phone 13812345678 --yes [--by NAME]
    python -m privacy retention [--days N]        # RETENTION_DAYS; deletes old conversations
    python -m privacy log                         # the recorded requests

Stores (privacy.stores): Rasa's SQL tracker store, the shop (its admin API), the desk (its
database, read by reflection), and whatever registers itself (`privacy.registry.register`,
e.g. analytics). See docs/security-shop.md.
"""
