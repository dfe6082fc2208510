"""The co-production domain on top of the merge engine.

- models.py    projection tables (read models kept from merged records), project staff, codes
- types.py     record types: field schemas, required fields, writers, natural ids, projectors
- hooks.py     DomainHooks(actor): check, scope, after_merge; visible_clause(actor) for pulls
- clock.py     the server's hybrid logical clock (node id kept in the instance folder)
- projects.py  the server's own writes: projects, checklists, stages, staff, the demo project
- codes.py     join codes and claim codes
- api.py       /api/join, /api/me, /api/claims, /api/me/export, /api/me/erase
"""
