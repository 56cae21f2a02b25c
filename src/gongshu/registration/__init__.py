"""Registration of data resources and data products, with certificates (REG-1..REG-4)."""
