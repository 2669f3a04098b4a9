variable "name" {
  description = "Name of the alarm topic; prefixes the alarm names."
  type        = string
}

variable "function_name" {
  description = "Function whose errors raise an alarm."
  type        = string
}

variable "failure_queue_name" {
  description = "Queue whose depth raises an alarm."
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
