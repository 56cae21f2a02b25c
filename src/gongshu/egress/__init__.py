"""The egress door: every byte of dataset content that leaves for someone else."""
