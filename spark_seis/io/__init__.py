"""spark_seis.io"""
