variable "name" {
  description = "Name of the secret."
  type        = string
}

variable "description" {
  description = "What the secret holds and in which form, shown in the Secrets Manager console."
  type        = string
  default     = "GitHub token ticket-router posts comments with (JSON {\"token\": \"...\"} or the bare token)"
}

variable "recovery_window_in_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once, else 7-30)."
  type        = number
  default     = 7

  validation {
    condition     = var.recovery_window_in_days == 0 || (var.recovery_window_in_days >= 7 && var.recovery_window_in_days <= 30)
    error_message = "recovery_window_in_days must be 0 or between 7 and 30."
  }
}
