# A destroy that fails half-way is worse than one that refuses: the mail bucket's policy, public
# access block, lifecycle and encryption would go first, then the bucket would refuse to go while
# it holds mail, leaving mail kept for ever with no TLS-only policy. The caller makes this guard
# depend on everything else it creates, so a destroy deletes the guard first; while the deployment
# is protected, its destroy-time command fails, and Terraform deletes nothing that it depends on.
resource "terraform_data" "this" {
  input = {
    protected = var.protected
    message   = var.message
  }

  # Destroy-time provisioners may read only self: the state holds what the last apply set, which
  # is why the flags are applied before destroying. The command is valid in sh and in cmd.
  provisioner "local-exec" {
    when    = destroy
    command = self.input.protected ? "echo ${self.input.message} && exit 1" : "exit 0"
  }
}
