variable "protected" {
  description = "Refuse `terraform destroy` (before anything is deleted); takes effect once applied."
  type        = bool
}

variable "message" {
  description = "One line saying why destroy is refused and what to apply first. Letters, digits, spaces and . , : = _ - only (the command runs in sh or cmd)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9 .,:=_-]+$", var.message))
    error_message = "message may hold only letters, digits, spaces and . , : = _ - (it is echoed by sh or cmd)."
  }
}
