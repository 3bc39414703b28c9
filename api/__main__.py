"""`python -m api`: run the API with settings from the environment."""

from api.main import serve

serve()
