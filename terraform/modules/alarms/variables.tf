variable "name" {
  description = "Name of the alarm topic; prefixes the alarm names."
  type        = string
}

variable "function_name" {
  description = "Function whose errors raise an alarm."
  type        = string
}

variable "mail_queue_name" {
  description = "Mail queue whose oldest message (among those received fewer than three times), an hour old, raises an alarm."
  type        = string
}

variable "mail_dead_letter_queue_name" {
  description = "Dead-letter queue of the mail queue, whose depth raises an alarm."
  type        = string
}

variable "alarm_email" {
  description = "Address subscribed to the alarms (it must confirm the subscription); empty for none."
  type        = string
  default     = ""
}

variable "more_function_names" {
  description = "Further functions whose errors raise an alarm, by a short label that names the alarm (<name>-<label>-errors)."
  type        = map(string)
  default     = {}
}

variable "dead_letter_queue_names" {
  description = "Dead-letter queues whose depth raises an alarm, by a short label that names the alarm (<name>-<label>-dead-letters)."
  type        = map(string)
  default     = {}
}

variable "mail_outcome_unknown_metric" {
  description = "Metric (namespace and name, no dimensions) counting the outbox's mails whose SES outcome is unknown (mail-outcome-unknown): its first count raises an alarm. Null for none (no replies by mail)."
  type = object({
    namespace = string
    name      = string
  })
  default = null
}

variable "rejection_spike_threshold" {
  description = "Permanent rejections (spam, bounces, auto-replies and other noise left out) of the mail to any one route, within rejection_spike_minutes, that raise the rejection-spike alarm."
  type        = number
  default     = 10

  validation {
    condition     = var.rejection_spike_threshold >= 1 && floor(var.rejection_spike_threshold) == var.rejection_spike_threshold
    error_message = "rejection_spike_threshold must be a whole number, 1 or more."
  }
}

variable "rejection_spike_minutes" {
  description = "Minutes over which a route's permanent rejections are summed for the rejection-spike alarm; at most 180, the data a Metrics Insights alarm can evaluate."
  type        = number
  default     = 15

  validation {
    condition     = var.rejection_spike_minutes >= 1 && var.rejection_spike_minutes <= 180 && floor(var.rejection_spike_minutes) == var.rejection_spike_minutes
    error_message = "rejection_spike_minutes must be a whole number from 1 to 180."
  }
}
