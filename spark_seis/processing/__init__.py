"""spark_seis.processing"""
