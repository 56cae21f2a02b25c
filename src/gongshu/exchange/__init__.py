"""Sharing between agencies on the statutory clock: applications, answers,
referrals to the data authority, error reports and effect reports (SHR-1..6, QUA-3, GOV-2)."""
