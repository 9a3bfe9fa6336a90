"""Wire-faithful simulators of each broker, mounted at /sandbox/<broker>/ when SANDBOX_ENABLED.

Written from docs/brokers/<broker>.md independently of brokers/adapters/: nothing here imports an
adapter, so a misreading shared by both cannot pass unnoticed.
"""
