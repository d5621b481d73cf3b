"""What every process of the assistant shares for security: per-installation secrets and
their start-up check (`security.secrets`), personal-data masking (`security.masking`) and
the log masking installed at start in every process (`security.logs`)."""
