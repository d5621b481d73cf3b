"""Logging set-up (service_common.masking): every line the desk writes goes through the
phone mask. The desk never logs packet contents (transcripts, slots, addresses)."""

from service_common.masking import MaskingFormatter, mask, setup_logging

__all__ = ["MaskingFormatter", "mask", "setup_logging"]
