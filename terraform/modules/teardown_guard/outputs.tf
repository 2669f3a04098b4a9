output "protected" {
  description = "Whether destroy is refused, as last applied."
  value       = terraform_data.this.output.protected
}
