# Loaded by Apache mod_wsgi (see compute-api.conf).
from compute_api.wsgi_app import init_application

application = init_application()
