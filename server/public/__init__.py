"""The public "You said, we did" pages at /p/<slug> (views in ``server.public.views``)."""
