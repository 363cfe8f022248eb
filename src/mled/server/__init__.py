"""The MLED server: FastAPI app factory, dependencies, error handling and REST routes.

Routes are thin: they parse the request, call one service method as the authenticated user,
and render the result. Authorization and audit happen in the service layer.
"""
