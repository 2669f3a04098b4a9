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
